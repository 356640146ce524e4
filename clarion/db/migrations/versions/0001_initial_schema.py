"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('limit_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('stamp', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('provider_details',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('identifier', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('notification_type', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('supports_international', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identifier', 'notification_type')
    )
    op.create_table('provider_details_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('identifier', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('notification_type', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('supports_international', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', 'version')
    )
    op.create_table('services',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('restricted', sa.Boolean(), nullable=False),
    sa.Column('prefix_sms', sa.Boolean(), nullable=False),
    sa.Column('rate_limit', sa.Integer(), nullable=False),
    sa.Column('sms_message_limit', sa.Integer(), nullable=False),
    sa.Column('email_message_limit', sa.Integer(), nullable=False),
    sa.Column('letter_message_limit', sa.Integer(), nullable=False),
    sa.Column('international_sms_message_limit', sa.Integer(), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.Column('email_sender_local_part', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('key_type', sa.String(length=16), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expiry_date', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_service_id'), ['service_id'], unique=False)

    op.create_table('inbound_sms',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('notify_number', sa.String(length=255), nullable=False),
    sa.Column('user_number', sa.String(length=255), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('provider_reference', sa.String(length=255), nullable=True),
    sa.Column('provider_date', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_sms_service_created', ['service_id', 'created_at'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=True),
    sa.Column('key_type', sa.String(length=16), nullable=False),
    sa.Column('notification_type', sa.String(length=16), nullable=False),
    sa.Column('to', sa.String(length=255), nullable=False),
    sa.Column('normalised_to', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('personalisation', sa.JSON(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('client_reference', sa.String(length=1000), nullable=True),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('reply_to_text', sa.String(length=255), nullable=True),
    sa.Column('international', sa.Boolean(), nullable=False),
    sa.Column('phone_prefix', sa.String(length=8), nullable=True),
    sa.Column('rate_multiplier', sa.Float(), nullable=False),
    sa.Column('billable_units', sa.Integer(), nullable=False),
    sa.Column('postage', sa.String(length=16), nullable=True),
    sa.Column('one_click_unsubscribe_url', sa.Text(), nullable=True),
    sa.Column('sent_by', sa.String(length=32), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_reference', ['reference'], unique=False)
        batch_op.create_index('ix_notifications_sent_by_created', ['notification_type', 'sent_by', 'created_at'], unique=False)
        batch_op.create_index('ix_notifications_service_list', ['service_id', 'key_type', 'created_at'], unique=False)
        batch_op.create_index('ix_notifications_status_created', ['status', 'created_at'], unique=False)

    op.create_table('service_email_reply_to',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('email_address', sa.String(length=255), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('service_email_reply_to', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_email_reply_to_service_id'), ['service_id'], unique=False)

    op.create_table('service_guest_list',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_type', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'recipient_type', 'recipient')
    )
    with op.batch_alter_table('service_guest_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_guest_list_service_id'), ['service_id'], unique=False)

    op.create_table('service_sms_senders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('sms_sender', sa.String(length=11), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('service_sms_senders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_sms_senders_service_id'), ['service_id'], unique=False)

    op.create_table('templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('template_type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('postage', sa.String(length=16), nullable=True),
    sa.Column('letter_contact_block', sa.Text(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_templates_service_id'), ['service_id'], unique=False)

    op.create_table('templates_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('template_type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('postage', sa.String(length=16), nullable=True),
    sa.Column('letter_contact_block', sa.Text(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('id', 'version')
    )
    with op.batch_alter_table('templates_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_templates_history_service_id'), ['service_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('templates_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_templates_history_service_id'))

    op.drop_table('templates_history')
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_templates_service_id'))

    op.drop_table('templates')
    with op.batch_alter_table('service_sms_senders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_sms_senders_service_id'))

    op.drop_table('service_sms_senders')
    with op.batch_alter_table('service_guest_list', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_guest_list_service_id'))

    op.drop_table('service_guest_list')
    with op.batch_alter_table('service_email_reply_to', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_email_reply_to_service_id'))

    op.drop_table('service_email_reply_to')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_status_created')
        batch_op.drop_index('ix_notifications_service_list')
        batch_op.drop_index('ix_notifications_sent_by_created')
        batch_op.drop_index('ix_notifications_reference')

    op.drop_table('notifications')
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_sms_service_created')

    op.drop_table('inbound_sms')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_service_id'))

    op.drop_table('api_keys')
    op.drop_table('services')
    op.drop_table('provider_details_history')
    op.drop_table('provider_details')
    op.drop_table('limit_counters')
    

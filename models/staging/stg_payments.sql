select payment_id, order_id, method::text as method, paid_at, amount, updated_at
from {{ source('payments', 'payments') }}

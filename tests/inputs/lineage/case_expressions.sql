-- payments: id, order_id, payment_method, amount
select
    order_id,
    case payment_method when 'credit_card' then amount else 0 end as credit_card_amount,
    case when amount > 100 then 'large' when amount > 10 then 'medium' else 'small' end as size,
    case when true then 1 end
from payments

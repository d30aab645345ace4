-- orders: id, amount
-- refunds: refund_id, refunded_amount
-- events: ?
select id, amount from orders
union all
select refund_id, -refunded_amount from refunds
union
select 1, 2

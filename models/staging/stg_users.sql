-- Accounts with their role's name; the password hash stays in the OLTP database.
select u.user_id, u.email::text as email, r.name::text as role_name, u.customer_id, u.employee_id, u.is_active, u.updated_at
from {{ source('auth', 'users') }} as u
join {{ source('auth', 'roles') }} as r on r.role_id = u.role_id

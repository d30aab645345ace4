select
    employee_id,
    first_name || ' ' || last_name as employee_name,
    manager_id,
    is_manager,
    region_id,
    hired_at,
    updated_at
from {{ source('orders', 'employees') }}

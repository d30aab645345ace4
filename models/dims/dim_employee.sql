select
    row_number() over (order by employee_id) as employee_key,
    employee_id,
    employee_name,
    manager_id,
    is_manager
from {{ ref('stg_employees') }}

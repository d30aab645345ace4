select
    {{ surrogate_key('employee', 'e.employee_id') }} as employee_key,
    e.employee_id,
    e.employee_name,
    e.manager_id,
    manager.employee_name as manager_name,
    e.is_manager,
    e.region_id,
    e.hired_at
from {{ ref('stg_employees') }} as e
left join {{ ref('stg_employees') }} as manager on manager.employee_id = e.manager_id

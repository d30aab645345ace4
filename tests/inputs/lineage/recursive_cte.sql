-- employees: id, manager_id, name
with recursive chain as (
    select id, manager_id, name, 1 as depth from employees where manager_id is null
    union all
    select e.id, e.manager_id, e.name, chain.depth + 1 from employees e join chain on e.manager_id = chain.id
)
select id, name, depth, v.column1 as extra
from chain, (values (1, 'a')) as v

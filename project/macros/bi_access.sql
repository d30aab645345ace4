{#- Roles of the BI tools. `bi_viewer` may read the marts and nothing else (grants in
    tmk_project.yml); each region gets a login role `bi_region_<region_id>`, a member of
    bi_viewer, that the row security of the regional marts limits to its region's rows.
    Roles are cluster-wide and parallel builds may create them at once: creating one that
    exists is not an error. -#}
{% macro create_bi_viewer_role() %}
do $$
begin
    create role bi_viewer nologin;
exception when duplicate_object or unique_violation then null;
end $$
{% endmacro %}

{% macro create_region_roles(regions) %}
do $$
declare region record;
begin
    for region in select region_id from {{ regions }} loop
        begin
            execute format('create role %I login in role bi_viewer', 'bi_region_' || region.region_id);
        exception when duplicate_object or unique_violation then null;
        end;
    end loop;
end $$
{% endmacro %}

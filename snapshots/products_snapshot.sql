{#- Price and cost history of every product (SCD type 2): a new version whenever the catalog
    changes a product's price, cost, name or category. -#}
{% snapshot products_snapshot %}
{{ config(unique_key='product_id', strategy='check', check_cols=['product_name', 'category_id', 'price', 'cost'], hard_deletes='invalidate') }}
select product_id, product_name, category_id, price, cost
from {{ ref('stg_products') }}
{% endsnapshot %}

-- Owner: products. Tables: products (an index).
-- Category pages sorted by price: without it every product of the category is sorted per
-- page (15 ms for 20k rows alone, 195 ms under load: bench/RESULTS.md, issue 20).
CREATE INDEX products_category_price ON products(category_id, status, price, id);

-- Owner: orders. The top-buyers ranking (orders_top_buyer, chat's "top_buyer" badge)
-- groups one seller's paid orders by buyer and currency: this index holds every column
-- it reads, so a cache miss reads the seller's index range and never the table.
CREATE INDEX orders_seller_buyers ON orders(seller_id, status, buyer_id, currency, total, refunded);

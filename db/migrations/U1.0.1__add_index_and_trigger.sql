-- Undo of V1.0.1: its triggers and indexes go, leaving the schema exactly as V1.0.0 made it.
-- Creating an index that starts with a foreign key's column made InnoDB drop the index it had
-- made for that key. A key may never be without an index, so each such key is dropped with the
-- replacing index and added again: InnoDB then makes its own index for it again, as V1.0.0
-- left it, and re-applying V1.0.1 later replaces it the same way. Foreign key checks are off
-- for this session only: the rows were valid before, and re-adding a key does not copy the
-- table then.

SET SESSION foreign_key_checks = 0;

DROP TRIGGER IF EXISTS trg_orders_audit_update;
DROP TRIGGER IF EXISTS trg_orders_audit_insert;

ALTER TABLE orders
    DROP FOREIGN KEY fk_orders_customer,
    DROP INDEX ix_orders_customer_placed,
    DROP INDEX ix_orders_status;
ALTER TABLE orders
    ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);

ALTER TABLE order_items
    DROP FOREIGN KEY fk_order_items_order,
    DROP INDEX ix_order_items_order;
ALTER TABLE order_items
    ADD CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id)
        ON DELETE CASCADE;

ALTER TABLE products
    DROP FOREIGN KEY fk_products_category,
    DROP INDEX ix_products_category_price;
ALTER TABLE products
    ADD CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id);

ALTER TABLE reviews
    DROP FOREIGN KEY fk_reviews_product,
    DROP INDEX ix_reviews_product;
ALTER TABLE reviews
    ADD CONSTRAINT fk_reviews_product FOREIGN KEY (product_id) REFERENCES products (id);

DROP INDEX ix_audit_log_row ON audit_log;

SET SESSION foreign_key_checks = 1;

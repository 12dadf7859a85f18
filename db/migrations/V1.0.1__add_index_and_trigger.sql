-- Secondary indexes for the shop's common lookups, and an audit trigger on orders.
-- The trigger is why the full load must not fire triggers for copied rows.

CREATE INDEX ix_orders_customer_placed ON orders (customer_id, placed_at);
CREATE INDEX ix_orders_status ON orders (status);
CREATE INDEX ix_order_items_order ON order_items (order_id);
CREATE INDEX ix_products_category_price ON products (category_id, price);
CREATE INDEX ix_reviews_product ON reviews (product_id, rating);
CREATE INDEX ix_audit_log_row ON audit_log (table_name, row_id);

DELIMITER $$

CREATE TRIGGER trg_orders_audit_insert AFTER INSERT ON orders
FOR EACH ROW
BEGIN
    INSERT INTO audit_log (table_name, row_id, action, changed_at, details)
    VALUES ('orders', NEW.id, 'INSERT', NEW.placed_at,
            JSON_OBJECT('status', NEW.status, 'total', NEW.total_amount));
END$$

CREATE TRIGGER trg_orders_audit_update AFTER UPDATE ON orders
FOR EACH ROW
BEGIN
    IF NOT (OLD.status <=> NEW.status) THEN
        INSERT INTO audit_log (table_name, row_id, action, details)
        VALUES ('orders', NEW.id, 'UPDATE',
                JSON_OBJECT('from', OLD.status, 'to', NEW.status));
    END IF;
END$$

DELIMITER ;

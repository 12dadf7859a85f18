-- Demo "shop" database: the on-premises schema this project migrates in its demo and tests.
-- Realistic MySQL types on purpose: unsigned BIGINT keys, a composite key, DECIMAL money,
-- DATETIME(6)/TIMESTAMP, ENUM, SET, JSON, BLOB, utf8mb4 text and foreign keys.

CREATE TABLE customers (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    email         VARCHAR(191) NOT NULL,
    full_name     VARCHAR(200) NOT NULL,
    phone         VARCHAR(40) NULL,
    external_ref  BIGINT UNSIGNED NULL COMMENT 'id in the legacy CRM, up to 2^64-1',
    loyalty_tier  ENUM('none', 'silver', 'gold', 'platinum') NOT NULL DEFAULT 'none',
    marketing     SET('email', 'sms', 'post') NOT NULL DEFAULT '',
    notes         TEXT NULL,
    created_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    UNIQUE KEY uq_customers_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE addresses (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    customer_id  BIGINT UNSIGNED NOT NULL,
    kind         ENUM('billing', 'shipping') NOT NULL,
    line1        VARCHAR(255) NOT NULL,
    line2        VARCHAR(255) NULL,
    city         VARCHAR(120) NOT NULL,
    postal_code  VARCHAR(20) NOT NULL,
    country      CHAR(2) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_addresses_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE categories (
    id         INT UNSIGNED NOT NULL AUTO_INCREMENT,
    parent_id  INT UNSIGNED NULL,
    name       VARCHAR(100) NOT NULL,
    slug       VARCHAR(120) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_categories_slug (slug),
    CONSTRAINT fk_categories_parent FOREIGN KEY (parent_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    category_id  INT UNSIGNED NOT NULL,
    sku          VARCHAR(64) NOT NULL,
    name         VARCHAR(255) NOT NULL,
    description  MEDIUMTEXT NULL,
    price        DECIMAL(12, 2) NOT NULL,
    weight_kg    DECIMAL(9, 3) NULL,
    attributes   JSON NULL,
    thumbnail    BLOB NULL,
    is_active    TINYINT(1) NOT NULL DEFAULT 1,
    created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    UNIQUE KEY uq_products_sku (sku),
    CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Composite primary key: stock per product per warehouse.
CREATE TABLE inventory (
    product_id    BIGINT UNSIGNED NOT NULL,
    warehouse_id  SMALLINT UNSIGNED NOT NULL,
    quantity      INT NOT NULL DEFAULT 0,
    reserved      INT NOT NULL DEFAULT 0,
    updated_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (product_id, warehouse_id),
    CONSTRAINT fk_inventory_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE orders (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    customer_id       BIGINT UNSIGNED NOT NULL,
    status            ENUM('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded') NOT NULL DEFAULT 'pending',
    currency          CHAR(3) NOT NULL DEFAULT 'EUR',
    total_amount      DECIMAL(14, 2) NOT NULL,
    discount_rate     DECIMAL(5, 4) NOT NULL DEFAULT 0.0000,
    placed_at         DATETIME(6) NOT NULL,
    shipped_at        DATETIME(6) NULL,
    shipping_address  JSON NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE order_items (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    order_id    BIGINT UNSIGNED NOT NULL,
    product_id  BIGINT UNSIGNED NOT NULL,
    quantity    INT UNSIGNED NOT NULL,
    unit_price  DECIMAL(12, 2) NOT NULL,
    line_total  DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT fk_order_items_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE payments (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    order_id         BIGINT UNSIGNED NOT NULL,
    method           ENUM('card', 'paypal', 'bank_transfer', 'voucher') NOT NULL,
    amount           DECIMAL(14, 2) NOT NULL,
    provider_ref     VARBINARY(32) NULL COMMENT 'opaque token from the payment provider',
    captured_at      TIMESTAMP(6) NULL,
    raw_response     JSON NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reviews (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    product_id   BIGINT UNSIGNED NOT NULL,
    customer_id  BIGINT UNSIGNED NOT NULL,
    rating       TINYINT UNSIGNED NOT NULL,
    title        VARCHAR(200) NULL,
    body         TEXT NULL,
    created_at   DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT fk_reviews_product FOREIGN KEY (product_id) REFERENCES products (id),
    CONSTRAINT fk_reviews_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
    CONSTRAINT chk_reviews_rating CHECK (rating BETWEEN 1 AND 5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    table_name   VARCHAR(64) NOT NULL,
    row_id       BIGINT UNSIGNED NOT NULL,
    action       ENUM('INSERT', 'UPDATE', 'DELETE') NOT NULL,
    changed_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    details      JSON NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The reference ERP's tables. Run once, inside the migration transaction, with search_path set to
-- the ERP's schema (so no table name here is schema-qualified).

-- Companies (legal entities); the API serves one per server.
CREATE TABLE companies (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  display_name text NOT NULL,
  currency_code char(3) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Number series: numbers without gaps, assigned inside the creating transaction (a rolled back
-- create gives its number back), as ERPs must for invoices.
CREATE TABLE number_series (
  company_id uuid NOT NULL REFERENCES companies (id),
  code text NOT NULL,
  prefix text NOT NULL,
  width integer NOT NULL,
  last_no bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (company_id, code)
);

-- One change clock per entity set. A write locks its row until commit and takes a time strictly
-- after the last one: writes of a set commit in the order of their lastModifiedDateTime, so a
-- reader paging by that time can never miss a change that commits later with an earlier time.
CREATE TABLE change_clock (
  entity text PRIMARY KEY,
  last_stamp timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z'
);
INSERT INTO change_clock (entity) VALUES ('customers'), ('salesOrders'), ('salesInvoices');

CREATE TABLE customers (
  id uuid PRIMARY KEY,
  company_id uuid NOT NULL REFERENCES companies (id),
  number text NOT NULL,
  external_id text,
  display_name text NOT NULL,
  type text NOT NULL,
  address_line1 text NOT NULL DEFAULT '',
  address_line2 text NOT NULL DEFAULT '',
  city text NOT NULL DEFAULT '',
  state text NOT NULL DEFAULT '',
  country text NOT NULL DEFAULT '',
  postal_code text NOT NULL DEFAULT '',
  phone_number text NOT NULL DEFAULT '',
  email text NOT NULL DEFAULT '',
  website text NOT NULL DEFAULT '',
  tax_registration_number text NOT NULL DEFAULT '',
  currency_code char(3) NOT NULL,
  credit_limit_minor bigint NOT NULL DEFAULT 0,
  credit_status text NOT NULL DEFAULT 'CLEAR',
  blocked text NOT NULL DEFAULT ' ',
  external_version bigint,
  row_version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  last_modified timestamptz NOT NULL,
  UNIQUE (company_id, number)
);
CREATE UNIQUE INDEX customers_external_id ON customers (company_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX customers_changes ON customers (company_id, last_modified, number);

CREATE TABLE sales_orders (
  id uuid PRIMARY KEY,
  company_id uuid NOT NULL REFERENCES companies (id),
  number text NOT NULL,
  external_document_number text,
  customer_id uuid NOT NULL REFERENCES customers (id),
  order_date date NOT NULL,
  currency_code char(3) NOT NULL,
  status text NOT NULL,
  total_amount_minor bigint NOT NULL,
  external_version bigint,
  row_version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  last_modified timestamptz NOT NULL,
  UNIQUE (company_id, number)
);
CREATE UNIQUE INDEX sales_orders_external_document ON sales_orders (company_id, external_document_number)
  WHERE external_document_number IS NOT NULL;
CREATE INDEX sales_orders_changes ON sales_orders (company_id, last_modified, number);
CREATE INDEX sales_orders_customer ON sales_orders (customer_id);

CREATE TABLE sales_order_lines (
  id uuid PRIMARY KEY,
  document_id uuid NOT NULL REFERENCES sales_orders (id) ON DELETE CASCADE,
  sequence integer NOT NULL,
  line_type text NOT NULL,
  line_object_number text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  quantity numeric(18, 5) NOT NULL,
  unit_price_minor bigint NOT NULL,
  amount_minor bigint NOT NULL,
  UNIQUE (document_id, sequence)
);

CREATE TABLE sales_invoices (
  id uuid PRIMARY KEY,
  company_id uuid NOT NULL REFERENCES companies (id),
  number text NOT NULL,
  external_document_number text,
  customer_id uuid NOT NULL REFERENCES customers (id),
  order_id uuid REFERENCES sales_orders (id),
  invoice_date date NOT NULL,
  due_date date NOT NULL,
  currency_code char(3) NOT NULL,
  status text NOT NULL,
  total_amount_minor bigint NOT NULL,
  remaining_amount_minor bigint NOT NULL,
  external_version bigint,
  row_version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  last_modified timestamptz NOT NULL,
  UNIQUE (company_id, number)
);
CREATE UNIQUE INDEX sales_invoices_external_document ON sales_invoices (company_id, external_document_number)
  WHERE external_document_number IS NOT NULL;
CREATE INDEX sales_invoices_changes ON sales_invoices (company_id, last_modified, number);
CREATE INDEX sales_invoices_customer ON sales_invoices (customer_id);

CREATE TABLE sales_invoice_lines (
  id uuid PRIMARY KEY,
  document_id uuid NOT NULL REFERENCES sales_invoices (id) ON DELETE CASCADE,
  sequence integer NOT NULL,
  line_type text NOT NULL,
  line_object_number text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  quantity numeric(18, 5) NOT NULL,
  unit_price_minor bigint NOT NULL,
  amount_minor bigint NOT NULL,
  UNIQUE (document_id, sequence)
);

-- Idempotency keys, Stripe-style: the key row is inserted first in the writing transaction and
-- completed with the answer before commit, so the key and the write commit (or vanish) together,
-- and a concurrent request with the same key waits on the primary key until the first is decided.
CREATE TABLE idempotency_keys (
  client_id text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  response_status integer,
  response_headers jsonb,
  response_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

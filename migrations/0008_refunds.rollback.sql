DROP TABLE refund_jobs;
DROP TABLE refunds_view;

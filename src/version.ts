/** Trove's own version. */
export const TROVE_VERSION = '0.1.0';
/**
 * The MLflow server version Trove answers `/version` with. The client compares it to enable
 * features (e.g. OTLP trace export needs ≥ 3.4), so it names the MLflow API level we implement.
 */
export const MLFLOW_COMPAT_VERSION = '3.18.0';

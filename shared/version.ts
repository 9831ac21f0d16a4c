/** The release of Traffic Analyzer, reported by `/health` and in logs. */
export const VERSION = "0.1.0";

export {
  CATALOGUE_FILE,
  SERVICES,
  parseMetricCatalogue,
  queryableSeriesNames,
  readMetricCatalogue,
  type CatalogueEntry,
  type MetricType,
  type Service,
} from "./catalogue.js";
export { parsePromql } from "./promql.js";

// The zod instance every schema is built with. Schemas carry OpenAPI metadata via
// zod's own `.meta({ id, description })`, which zod-to-openapi reads, so nothing
// here patches zod's prototype at import time.
export { z } from 'zod';

// The one zod instance every schema is built with, extended with `.openapi()` so
// that the OpenAPI documents can be generated from these same schemas.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };

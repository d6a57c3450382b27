/**
 * The documents generated from the contracts, by repository path: each listener's OpenAPI
 * document (from the route tables of the real apps, built as `config check` builds them), the
 * AsyncAPI document, and one JSON Schema per message. scripts/docs.ts writes them;
 * tests/unit/generated-docs.test.ts fails when the committed ones differ.
 */
import { allMessages } from '../contracts/asyncapi/messages.ts';
import { buildAsyncApi } from '../contracts/asyncapi/document.ts';
import { jsonSchemaOf } from '../contracts/json-schema.ts';
import { loadConfig } from '../hub/config/load.ts';
import { buildOpenApi } from '../hub/http/openapi.ts';
import { routeDocsOf } from '../hub/http/openapi-route.ts';
import { routeTables } from './plan.ts';
import { packageVersion } from './version.ts';

export const REGENERATE_COMMAND = 'node --import tsx scripts/docs.ts';
export const SCHEMA_DIR = 'docs/schemas';
const SCHEMA_BASE = 'https://github.com/proxyhub/proxyhub/blob/main/docs/schemas';

const text = (document: unknown): string => `${JSON.stringify(document, null, 2)}\n`;

export async function generatedDocuments(): Promise<Map<string, string>> {
  // Defaults only: the documents describe every route, not one machine's configuration.
  const tables = await routeTables(loadConfig({}));
  const files = new Map<string, string>();
  for (const listener of ['ingress', 'control'] as const) {
    files.set(`docs/${listener}.openapi.json`, text(buildOpenApi({ listener, version: packageVersion, routes: tables[listener], docs: routeDocsOf(listener) })));
  }
  files.set('docs/proxyhub.asyncapi.json', text(buildAsyncApi(packageVersion)));
  for (const message of allMessages()) {
    const schema = jsonSchemaOf(message.schema, { io: 'output', standalone: true });
    files.set(`${SCHEMA_DIR}/${message.type}.json`, text({ $schema: schema.$schema, $id: `${SCHEMA_BASE}/${message.type}.json`, title: message.type, description: message.summary, ...schema }));
  }
  return files;
}

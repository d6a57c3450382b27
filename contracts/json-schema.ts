/**
 * JSON Schema from the zod contracts, for the generated documents: OpenAPI 3.1 takes JSON Schema
 * 2020-12, AsyncAPI 3.0's own schema format is a superset of draft 07. A transform (a string
 * that becomes a number) has no JSON Schema; its side is written as "anything" rather than
 * failing the whole document.
 */
import { z } from 'zod';

export interface JsonSchemaOptions {
  /** 'input' for what a client sends, 'output' for what a producer emits. */
  readonly io: 'input' | 'output';
  /** @defaultValue 'draft-2020-12' */
  readonly target?: 'draft-2020-12' | 'draft-7';
  /** Keep the `$schema` keyword (for a standalone file). @defaultValue false */
  readonly standalone?: boolean;
}

export function jsonSchemaOf(schema: z.ZodType, options: JsonSchemaOptions): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(schema, { io: options.io, target: options.target ?? 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  return options.standalone === true ? { $schema, ...rest } : rest;
}

/** Whether a value is a zod schema (route schemas may also be plain JSON Schema). */
export function isZodSchema(value: unknown): value is z.ZodType {
  return value instanceof z.ZodType;
}

import { z } from 'zod';

/**
 * Foreman's own `POST /api/hosts/facts` payload, as node.rb and the Ansible callback send it.
 * `facts` is kept as sent: Foreman's importers read `_type`, `_timestamp`, `domain`, the
 * taxonomy facts and the rest.
 */
export const factsUploadSchema = z.object({
  name: z.string().trim().min(1).max(255),
  facts: z.record(z.string(), z.unknown()),
  certname: z.string().min(1).max(255).optional(),
  type: z.string().min(1).max(255).optional(),
});

export type FactsUpload = z.infer<typeof factsUploadSchema>;

export const factsUploadedV1 = {
  type: 'facts.uploaded.v1',
  data: factsUploadSchema,
} as const;

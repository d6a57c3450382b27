/**
 * Request/reply for the SCAP content and tailoring files foreman_scap_client fetches before a
 * scan. The ingress names only the policy, the kind of file and the digest; the openscap worker
 * builds the Foreman path itself, so a request can never steer it to another Foreman route.
 */
import { z } from 'zod';
import { policyIdSchema } from '../events/arf-uploaded.ts';

export const policyFileKinds = ['content', 'tailoring'] as const;
export type PolicyFileKind = (typeof policyFileKinds)[number];

/**
 * Foreman names SCAP content and tailoring files by their sha256 in hex. Lower-cased here, the
 * one place every layer parses it: two spellings of one digest are one cache key and one file,
 * not a second fetch and a second copy each.
 */
export const policyFileDigestSchema = z.string().regex(/^[0-9a-fA-F]{64}$/).toLowerCase();

export const policyFileRequestSchema = z.object({
  kind: z.enum(policyFileKinds),
  policyId: policyIdSchema,
  digest: policyFileDigestSchema,
  /** Epoch ms when the ingress gives up. */
  deadline: z.number().int().positive(),
});
export type PolicyFileRequest = z.infer<typeof policyFileRequestSchema>;

export const POLICY_FILE_REQUEST_TYPE = 'openscap.policy-file.request.v1';

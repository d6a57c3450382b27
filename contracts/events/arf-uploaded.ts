import { z } from 'zod';

/** foreman_scap_client's policy id: a positive integer, as Foreman's route expects. */
export const policyIdSchema = z.coerce.number().int().positive().max(2 ** 31 - 1);

/**
 * An OpenSCAP ARF report as foreman_scap_client uploads it: the bzip2 bytes exactly as received
 * (Foreman is told their sha256 and downloads them again later), with who sent it and when.
 * `arf` is the last field so that the ingress can stream the bytes into the message body after
 * everything else (see hub/ingress/arf-message.ts).
 */
export const arfUploadSchema = z.object({
  policyId: policyIdSchema,
  /** CN of the host's certificate: the smart-proxy's `cname`, which Foreman finds the host by. */
  cname: z.string().min(1).max(255),
  /** When the ingress received the upload (epoch seconds): Foreman's `date` for the report. */
  reportedAt: z.number().int().nonnegative(),
  /** Base64 of the bzip2-compressed ARF XML. */
  arf: z.string().min(1),
});

export type ArfUpload = z.infer<typeof arfUploadSchema>;

export const arfUploadedV1 = {
  type: 'openscap.arf.uploaded.v1',
  data: arfUploadSchema,
} as const;

/** Clients in the database and the admin API at /admin/api/v1 (src/admin/): secret rotation grace, request rate. */
import { z } from 'zod';
import type { EnvOf } from './fields.js';

export interface AdminConfig {
  /** Clients in the database and the admin API at /admin/api/v1 (src/admin/). */
  admin: {
    /** After a client secret is rotated, the previous one keeps working this long. */
    secretGraceSeconds: number;
    /** Admin API requests per admin client per minute. */
    requestsPerMinute: number;
  };
}

export const adminEnv = {
  CLIENT_SECRET_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(24 * 3600),
  ADMIN_API_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(300),
};

export function readAdmin(e: EnvOf<typeof adminEnv>): AdminConfig {
  return { admin: { secretGraceSeconds: e.CLIENT_SECRET_GRACE_SECONDS, requestsPerMinute: e.ADMIN_API_REQUESTS_PER_MINUTE } };
}

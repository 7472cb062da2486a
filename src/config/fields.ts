/**
 * The pieces every config area shares: the zod field shapes used by more than one area, the type of
 * the validated environment an area reads, and the error a bad configuration stops start-up with.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[], heading = 'Invalid configuration') {
    super(`${heading}:\n - ${problems.join('\n - ')}`);
    this.name = 'ConfigError';
  }
}

export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
export const seconds = z.coerce.number().int().positive();
export const hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters (32 bytes)');

/** The validated environment variables of one area (its schema's output). */
export type EnvOf<S extends z.ZodRawShape> = z.infer<z.ZodObject<S>>;

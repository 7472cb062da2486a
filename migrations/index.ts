/** Every migration, in order. Listed statically so the same list runs from the build, the CLI and the tests. */
import type { Knex } from 'knex';
import * as initial from './001_initial.js';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [{ name: '001_initial', ...initial }];

/**
 * Upstream mocks on ports of their own, as the real ID-porten and BankID are, with the service pointed
 * at them by configuration alone (IDPORTEN_ISSUER, BANKID_BASE_URL). For tests where the upstream must be
 * one party outside our instances (several instances on one database) or plainly foreign (a hostile one).
 */
import { startIdportenMock, type RunningIdportenMock } from '../../mocks/idporten/index.js';
import { callbackUrlFor } from '../../src/brokers/method.js';
import type { Clock } from '../../src/clock.js';
import { freePort } from './service.js';

const BROKER_CLIENT_ID = 'nordlys-broker';
const BROKER_SECRET = 'broker-secret-0123456789abcdef01234567';

export interface IdportenUpstream {
  mock: RunningIdportenMock;
  /** The port the service must listen on: its callback URL is registered with the mock. */
  port: number;
  /** The service's configuration for this upstream. */
  env: Record<string, string>;
}

/** An ID-porten mock that has our broker registered (client_secret_basic) for a service on a free port. */
export async function idportenUpstream(clock?: Clock): Promise<IdportenUpstream> {
  const port = await freePort();
  const mock = await startIdportenMock({
    ...(clock ? { now: () => clock.now() } : {}),
    clients: [
      {
        client_id: BROKER_CLIENT_ID,
        client_secret: BROKER_SECRET,
        redirect_uris: [callbackUrlFor(`http://127.0.0.1:${port}`, 'idporten')],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
  });
  return { mock, port, env: { IDPORTEN_ISSUER: mock.issuer, IDPORTEN_CLIENT_ID: BROKER_CLIENT_ID, IDPORTEN_CLIENT_SECRET: BROKER_SECRET } };
}

import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { restHook } from './support.js';

/** A Subscription the server would not honour is refused at create (422), naming the element. */
describe.each(BACKENDS)('Subscription create checks, on $name', (backend) => {
  const t = useServer(backend, { subscriptions: { endpoints: ['https://ehr.example.org/hooks/'] } });
  const post = (body: object) => t.http().post('/fhir/Subscription').set('Content-Type', FHIR_JSON).send(body);
  const refusedAt = async (body: object, expression: string, message: RegExp) => {
    const res = await post(body);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression).toEqual([expression]);
    expect(res.body.issue[0].diagnostics).toMatch(message);
  };
  const good = 'https://ehr.example.org/hooks/forlop';

  // websocket is offered (what it refuses: websocket.test.ts)
  it.each(['email', 'sms', 'message'])('refuses channel type %s', async (type) => {
    const body = restHook('Organization?name=x', good, { type });
    await refusedAt(body, 'Subscription.channel.type', new RegExp(`'${type}' is not supported`));
  });

  it('refuses a payload other than none or application/fhir+json', async () => {
    await refusedAt(
      restHook('Organization?name=x', good, { payload: 'application/fhir+xml' }),
      'Subscription.channel.payload',
      /not supported/,
    );
  });

  it('refuses plain http off loopback, an endpoint off the allow-list, and a bad header', async () => {
    await refusedAt(
      restHook('Organization', 'http://ehr.example.org/hooks/x'),
      'Subscription.channel.endpoint',
      /https/,
    );
    await refusedAt(
      restHook('Organization', 'https://evil.example.com/x'),
      'Subscription.channel.endpoint',
      /allow-list/,
    );
    await refusedAt(restHook('Organization', 'not a url'), 'Subscription.channel.endpoint', /url/i);
    const header = { header: ['no colon here'] };
    await refusedAt(restHook('Organization', good, header), 'Subscription.channel.header', /Name: value/);
  });

  it('refuses criteria that are not a search of a known type', async () => {
    await refusedAt(restHook('Nonsense?x=1', good), 'Subscription.criteria', /unknown type 'Nonsense'/);
    await refusedAt(restHook('Task?no-such-param=1', good), 'Subscription.criteria', /no-such-param/);
    await refusedAt(restHook('Task?status=ready&_count=5', good), 'Subscription.criteria', /_count/);
  });

  it('refuses a client setting the status the server owns', async () => {
    await refusedAt({ ...restHook('Organization', good), status: 'active' }, 'Subscription.status', /server/);
  });

  it('accepts an allowed rest-hook (listed https, and loopback http in development) as requested', async () => {
    const listed = await post(restHook('Task?business-status=overdue', good, { payload: 'application/fhir+json' }));
    expect(listed.status, JSON.stringify(listed.body)).toBe(201);
    expect(listed.body.status).toBe('requested');
    const loopback = await post(restHook('Organization?name=x', 'http://127.0.0.1:9/hook'));
    expect(loopback.status, JSON.stringify(loopback.body)).toBe(201);
  });
});

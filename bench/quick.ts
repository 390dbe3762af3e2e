import autocannon from 'autocannon';
const url = process.argv[2];
const body = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Nordmann', given: ['Kari'] }], gender: 'female', birthDate: '1980-05-17', identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '17058012345' }] });
const r = await autocannon({ url, connections: 16, amount: 5000, method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
console.log(r.requests.average, r.latency.p50, r.latency.p99, r.non2xx, r.errors);

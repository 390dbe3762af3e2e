import { isPatientSession, signIn, signOut } from './auth.js';
import { h, show } from './dom.js';
import { Fhir, OutcomeError } from './fhir.js';
import { issueText } from './record.js';
import { indicatorsPage } from './indicators.js';
import { pathwayPage } from './pathway.js';
import { patientPage } from './patient.js';
import { registryPage } from './registry.js';
import { worklistPage } from './worklist.js';

const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

function failure(e: unknown): void {
  if (e instanceof OutcomeError && e.status === 401) signOut();
  const text = e instanceof OutcomeError ? (e.outcome?.issue ?? []).map(issueText).join(' ') || e.message : String(e);
  show('Feil', h('h1', {}, 'Noe gikk galt'), h('p', { class: 'error', id: 'feil' }, text));
}

/** Which page the path asks for; a `patient/` session only ever gets the patient's own page. */
async function route(fhir: Fhir): Promise<void> {
  const path = location.pathname.replace(/^\/app\/?/, '');
  if (isPatientSession(fhir.session)) {
    document.getElementById('meny')?.replaceChildren(h('li', {}, h('a', { href: '/app/' }, 'Ditt forløp')));
    return patientPage(fhir, fhir.session.patient as string);
  }
  const [page, id] = path.split('/');
  if (page === 'forlop' && id) return pathwayPage(fhir, decodeURIComponent(id));
  if (page === 'indikatorer') return indicatorsPage(fhir);
  if (page === 'register') return registryPage(fhir);
  if (page === '' || page === undefined) return worklistPage(fhir);
  show('Finnes ikke', h('h1', {}, 'Siden finnes ikke'), h('p', {}, h('a', { href: '/app/' }, 'Til arbeidslisten')));
}

async function start(): Promise<void> {
  const base = `${location.origin}${meta('forlop-fhir')}`;
  const session = await signIn(base, meta('forlop-auth') === 'on', meta('forlop-client-id'));
  const user = document.getElementById('bruker');
  if (user && isPatientSession(session)) user.textContent = 'Innlogget som pasient';
  else if (user && session.fhirUser) user.textContent = `Innlogget: ${session.fhirUser}`;
  await route(new Fhir(base, session));
}

start().catch(failure);

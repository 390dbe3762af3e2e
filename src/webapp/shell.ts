/** What the page needs to know before its script runs: where the FHIR API is and whether sign-in is needed. */
export interface ShellConfig {
  /** The FHIR base path on this origin, e.g. `/fhir`. */
  fhirPath: string;
  /** Authentication on: the app signs in with SMART (authorization code + PKCE) first. */
  auth: boolean;
  /** The SMART client id the app signs in as. */
  clientId: string;
  scriptHash: string;
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The one HTML page every route of the app gets; the script fills `<main>`. Bokmål (`lang="nb"`),
 * a skip link, landmarks and a live region for what the script announces.
 */
export function shell(c: ShellConfig): string {
  return `<!doctype html>
<html lang="nb">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forløp</title>
<meta name="forlop-fhir" content="${escapeAttr(c.fhirPath)}">
<meta name="forlop-auth" content="${c.auth ? 'on' : 'off'}">
<meta name="forlop-client-id" content="${escapeAttr(c.clientId)}">
<link rel="stylesheet" href="/app/app.css?v=${c.scriptHash}">
<script type="module" src="/app/app.js?v=${c.scriptHash}"></script>
</head>
<body>
<a class="skip" href="#innhold">Hopp til innholdet</a>
<header class="top">
<a class="brand" href="/app/">Forløp</a>
<nav aria-label="Hovedmeny"><ul id="meny">
<li><a href="/app/">Arbeidsliste</a></li>
<li><a href="/app/indikatorer">Indikatorer</a></li>
<li><a href="/app/register">NPR-rapport</a></li>
</ul></nav>
<p id="bruker" class="user"></p>
</header>
<main id="innhold" tabindex="-1"><p class="loading">Laster …</p></main>
<div id="melding" class="sr-only" role="status" aria-live="polite"></div>
</body>
</html>
`;
}

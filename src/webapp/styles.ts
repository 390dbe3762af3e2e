/** The app's stylesheet: system fonts, AA contrast (4.5:1 or more for text), large touch targets for tablets. */
export const STYLES = `
:root{--ink:#1b1b1b;--muted:#4a4a4a;--line:#c8c8c8;--bg:#fff;--soft:#f3f4f6;--brand:#0b4f8a;
--ok:#1f6f2b;--soon:#8a5300;--over:#b00020;--breach:#6b0015;--ok-bg:#e6f4e8;--soon-bg:#fff1d6;
--over-bg:#fde7ea;--breach-bg:#f7d4da}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--brand)}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px;z-index:9}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:8px 24px;padding:8px 16px;background:var(--brand);color:#fff}
.top a{color:#fff}.brand{font-weight:700;font-size:1.2rem;text-decoration:none}
.top ul{display:flex;gap:16px;list-style:none;margin:0;padding:0}
.top nav a{display:inline-block;padding:10px 4px}.user{margin:0 0 0 auto}
main{padding:16px;max-width:1400px;margin:0 auto}
main:focus{outline:none}
h1{font-size:1.5rem;margin:8px 0 16px}h2{font-size:1.2rem;margin:24px 0 8px}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;margin-bottom:12px}
label{display:block;font-weight:600;font-size:.9rem}
select,input,button{font:inherit;min-height:44px;padding:6px 10px;border:1px solid #767676;border-radius:4px;
background:#fff;color:var(--ink)}
button{background:var(--brand);color:#fff;border-color:var(--brand);cursor:pointer}
button.secondary{background:#fff;color:var(--brand)}
button:focus-visible,a:focus-visible,select:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px;border-bottom:1px solid var(--line);vertical-align:top}
th button{background:none;border:0;color:var(--brand);padding:0;min-height:0;font-weight:700;text-decoration:underline}
td.num,th.num{text-align:right}
.nowrap{white-space:nowrap}
.standing{display:inline-block;padding:2px 8px;border-radius:12px;font-weight:600;white-space:nowrap}
.s-on-time,.s-met{background:var(--ok-bg);color:var(--ok)}.s-due-soon{background:var(--soon-bg);color:var(--soon)}
.s-overdue,.s-missed{background:var(--over-bg);color:var(--over)}.s-breached{background:var(--breach-bg);color:var(--breach)}
.s-no-limit,.s-cancelled,.s-postponed{background:var(--soft);color:var(--muted)}
.pager{display:flex;gap:12px;align-items:center;margin:12px 0}
.muted{color:var(--muted)}
.grid{display:grid;grid-template-columns:minmax(0,2fr) minmax(260px,1fr);gap:24px}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
ol.timeline{list-style:none;margin:0;padding:0;border-left:3px solid var(--line)}
ol.timeline>li{margin:0 0 12px;padding:4px 0 4px 16px;position:relative}
ol.timeline>li::before{content:"";position:absolute;left:-9px;top:12px;width:14px;height:14px;border-radius:50%;
background:var(--line)}
ol.timeline>li.t-met::before{background:var(--ok)}ol.timeline>li.t-overdue::before{background:var(--over)}
ol.timeline>li.t-due-soon::before{background:var(--soon)}ol.timeline>li.t-missed::before{background:var(--over)}
.card{border:1px solid var(--line);border-radius:6px;padding:12px;margin-bottom:16px}
.error{color:var(--over);font-weight:600;margin:4px 0}
.field{margin:8px 0}
select{max-width:100%}
textarea{font:inherit;width:100%;max-width:100%;padding:6px 10px;border:1px solid #767676;border-radius:4px}
details>summary{cursor:pointer;color:var(--brand);font-weight:600;padding:8px 0;min-height:44px}
form.record{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;margin-top:8px}
.ok-msg{color:var(--ok);font-weight:600}
svg text{font:13px system-ui,sans-serif}
figure{margin:0 0 16px}
`;

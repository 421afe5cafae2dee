/**
 * The login page: plain HTML, one form, no script at all (it works without JavaScript), its
 * style from one small same-origin stylesheet so that the Content-Security-Policy can forbid
 * every inline thing.
 */
export const LOGIN_STYLESHEET_PATH = '/login/style.css';

/** The policy of every HTML page the gateway makes: nothing but this origin's stylesheet and form posts to itself. */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const LOGIN_STYLESHEET = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);min-width:18rem}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .3rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#b00020;margin:.5rem 0}
`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

export interface LoginPageOptions {
  /** Where to go after logging in (already checked by safeNextPath). */
  next: string;
  /** The generic failure message, if the previous attempt failed. */
  error?: string;
  /** The name typed before (never the password). */
  username?: string;
}

/** An HTML page of the gateway's: the stylesheet, a title, a body; nothing inline. */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · jwtgate</title>
<link rel="stylesheet" href="${LOGIN_STYLESHEET_PATH}">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function loginPage(options: LoginPageOptions): string {
  const error = options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  return page('Log in', `<h1>Log in</h1>
${error}<form method="post" action="/login">
<input type="hidden" name="next" value="${escapeHtml(options.next)}">
<label for="username">User name</label>
<input id="username" name="username" type="text" autocomplete="username" autofocus required value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>`);
}

/** The page behind a "log out" link: one button that posts the logout (a GET never ends a session: links and prefetches must not). */
export function logoutPage(): string {
  return page('Log out', `<h1>Log out</h1>
<form method="post" action="/logout">
<button type="submit">Log out</button>
</form>`);
}

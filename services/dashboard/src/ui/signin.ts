// Sign-in: operators paste a token once (a JWT with role service_role); the session is an HttpOnly cookie.
import { h } from './dom.js';

export function showSignIn(reason?: string): void {
  const input = h('input', {
    type: 'password',
    id: 'signin-token',
    placeholder: 'service_role key (JWT)',
    autocomplete: 'off',
    required: true,
  });
  const error = h('p', { class: 'message error', id: 'signin-error' }, reason ?? '');
  const form = h(
    'form',
    {
      id: 'signin',
      class: 'card',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const res = await fetch('/api/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: input.value }),
        });
        if (res.ok) location.reload();
        else
          error.textContent =
            ((await res.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${res.status}`;
      },
    },
    h('h2', {}, 'Sign in to the Tributary dashboard'),
    h(
      'p',
      {},
      'Paste an operator token: a JWT signed with the platform JWT secret whose role is service_role.',
    ),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  document.body.replaceChildren(h('main', { class: 'signin' }, form));
}

// Sign-in: post the credentials as JSON; the API answers with an HttpOnly session cookie.

import { ApiError, api, homeFor, safeNext } from './api.js';

const form = document.getElementById('login-form');
const errorBox = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

function fail(message, field) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const username = form.elements.username;
  const password = form.elements.password;
  for (const field of [username, password]) field.removeAttribute('aria-invalid');
  if (!username.value.trim()) return fail('Enter your username.', username);
  if (!password.value) return fail('Enter your password.', password);

  submit.disabled = true;
  submit.textContent = 'Signing in…';
  try {
    const session = await api('/api/auth/login', {
      method: 'POST',
      body: { username: username.value.trim(), password: password.value },
      redirectOn401: false,
    });
    const next = new URLSearchParams(location.search).get('next');
    // No page asked for: each role lands on its own view (wall, agent panel, history).
    location.assign(safeNext(next, homeFor(session)));
  } catch (err) {
    password.value = '';
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      fail('Username or password is not correct.', password);
    } else if (err instanceof ApiError && err.status === 429) {
      fail('Too many attempts. Wait a moment and try again.', null);
    } else {
      fail('calmline could not be reached. Check the connection and try again.', null);
    }
  } finally {
    submit.disabled = false;
    submit.textContent = 'Sign in';
  }
});

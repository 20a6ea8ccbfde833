// The tutorial's Express app, as bench/load.sh runs it: /register records
// a user, a login form posts to /login, which records the user in an
// express-session session (its default MemoryStore, resave false,
// saveUninitialized false); /profile counts the view in
// req.session.count and greets the user; /profile/read writes the same
// page without changing the count. /jwt/login, /jwt/profile and
// /jwt/profile/read are the tutorial's JWT variant: jsonwebtoken signs an
// HS256 token into an HttpOnly cookie, checked on every view; the counts
// live in a plain object, as a hand-written app keeps them.
//
// The page is sessionkit's /session/profile page, the same markup and
// headers as bench/peers (profile.html, page.go), so every server in the
// comparison writes the same bytes. Keep profilePage and sendProfile in
// step with those files.
//
// Passwords are kept in a Map and compared in constant time, not hashed:
// Node 20 has no argon2id of its own (the npm packages fetch prebuilt
// binaries), so load.sh leaves Express out of its login storm. The
// session secret and the JWT secret are made at start. Every server in
// bench/ has the account bench / password-bench from the start.
'use strict';

const crypto = require('crypto');
const express = require('express');
const cookieParser = require('cookie-parser');
const session = require('express-session');
const jwt = require('jsonwebtoken');

const users = new Map([['bench', 'password-bench']]);
const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(cookieParser());

const sessions = session({
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 24 * 60 * 60 * 1000 },
});

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;',
  })[c]);
}

function profilePage(req, user, count) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Profile: server-side session · sessionkit</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header><a href="/">sessionkit</a></header>
<main>
<h1>Profile: server-side session</h1>
<p class="welcome">welcome ${escapeHtml(user)} with the count: ${count}</p>
<p><a href="/session/sessions">Where you are logged in</a> · <a href="/session/account">Your account</a></p>
<p><a href="/session/logout">Log out</a></p>
</main>
</body>
</html>`;
}

// The headers sessionkit's server sends with every page.
const securityHeaders = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
};

function sendProfile(req, res, user, count) {
  res.set(securityHeaders);
  res.set('X-Request-Id', crypto.randomBytes(8).toString('hex'));
  res.type('html');
  res.send(profilePage(req, user, count));
}

function credentialsOK(body) {
  if (!body || typeof body.username !== 'string' || typeof body.password !== 'string') {
    return false;
  }
  const want = Buffer.from(users.get(body.username) || '');
  const got = Buffer.from(body.password);
  return users.has(body.username) && want.length === got.length && crypto.timingSafeEqual(want, got);
}

app.post('/register', (req, res) => {
  const { username, password } = req.body || {};
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password || username.length > 64) {
    return res.status(400).send('username and password are both required');
  }
  if (users.has(username)) {
    return res.status(409).send('that username is taken');
  }
  users.set(username, password);
  res.redirect(303, '/');
});

// Server-side sessions (express-session).

app.post('/login', sessions, (req, res) => {
  if (!credentialsOK(req.body)) {
    return res.status(401).send('Invalid username or password.');
  }
  req.session.user = req.body.username;
  req.session.count = 0;
  res.redirect(303, '/profile');
});

app.get('/profile', sessions, (req, res) => {
  if (!req.session.user) {
    return res.redirect(303, '/login');
  }
  req.session.count = (req.session.count || 0) + 1;
  sendProfile(req, res, req.session.user, req.session.count);
});

app.get('/profile/read', sessions, (req, res) => {
  if (!req.session.user) {
    return res.redirect(303, '/login');
  }
  sendProfile(req, res, req.session.user, req.session.count || 0);
});

// JWT in a cookie (jsonwebtoken).

const jwtSecret = crypto.randomBytes(32);
const jwtCounts = {};

app.post('/jwt/login', (req, res) => {
  if (!credentialsOK(req.body)) {
    return res.status(401).send('Invalid username or password.');
  }
  const token = jwt.sign({ sub: req.body.username }, jwtSecret, {
    algorithm: 'HS256', expiresIn: '15m', issuer: 'sessionkit', audience: 'sessionkit',
  });
  jwtCounts[req.body.username] = 0;
  res.cookie('access', token, { httpOnly: true, sameSite: 'lax', maxAge: 15 * 60 * 1000 });
  res.redirect(303, '/jwt/profile');
});

function verifyAccess(req) {
  try {
    return jwt.verify(req.cookies.access || '', jwtSecret, {
      algorithms: ['HS256'], issuer: 'sessionkit', audience: 'sessionkit', clockTolerance: 30,
    });
  } catch (err) {
    return null;
  }
}

app.get('/jwt/profile', (req, res) => {
  const claims = verifyAccess(req);
  if (!claims) {
    return res.redirect(303, '/jwt/login');
  }
  jwtCounts[claims.sub] = (jwtCounts[claims.sub] || 0) + 1;
  sendProfile(req, res, claims.sub, jwtCounts[claims.sub]);
});

app.get('/jwt/profile/read', (req, res) => {
  const claims = verifyAccess(req);
  if (!claims) {
    return res.redirect(303, '/jwt/login');
  }
  sendProfile(req, res, claims.sub, jwtCounts[claims.sub] || 0);
});

app.listen(port, host, () => {
  console.log(`express listening on ${host}:${port}`);
});

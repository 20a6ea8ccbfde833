// The tutorial's Express app, as bench/load.sh runs it: a login form posts
// to /login, which records the user in an express-session session (its
// default MemoryStore, resave false, saveUninitialized false); /profile
// counts the view in req.session.count and greets the user. /jwt/login and
// /jwt/profile are the tutorial's JWT variant: jsonwebtoken signs an HS256
// token into an HttpOnly cookie, checked on every view; the count lives in
// a plain object, as a hand-written app keeps it.
//
// The page is sessionkit's /session/profile page, the same markup as
// bench/peers/profile.html, so every server in the comparison writes the
// same bytes. Keep profilePage in step with that file.
//
// The session secret and the JWT secret are made at start (the tutorial
// writes them into the source; nothing here needs them to survive a
// restart). The one account is bench / password-bench, as for every
// server in bench/.
'use strict';

const crypto = require('crypto');
const express = require('express');
const cookieParser = require('cookie-parser');
const session = require('express-session');
const jwt = require('jsonwebtoken');

const USER = 'bench';
const PASSWORD = 'password-bench';
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

function sendProfile(req, res, user, count) {
  res.set('Cache-Control', 'no-store');
  res.type('html');
  res.send(profilePage(req, user, count));
}

function credentialsOK(body) {
  return body && body.username === USER && body.password === PASSWORD;
}

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

app.get('/jwt/profile', (req, res) => {
  let claims;
  try {
    claims = jwt.verify(req.cookies.access || '', jwtSecret, {
      algorithms: ['HS256'], issuer: 'sessionkit', audience: 'sessionkit', clockTolerance: 30,
    });
  } catch (err) {
    return res.redirect(303, '/jwt/login');
  }
  jwtCounts[claims.sub] = (jwtCounts[claims.sub] || 0) + 1;
  sendProfile(req, res, claims.sub, jwtCounts[claims.sub]);
});

app.listen(port, host, () => {
  console.log(`express listening on ${host}:${port}`);
});

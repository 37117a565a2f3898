// MongoDB's first-start script (the mongo image runs /docker-entrypoint-initdb.d/*.js
// once, with the root user, when the data volume is empty): one user per service,
// each allowed to read and write its own database only. auth and chat share no
// collection, so auth keeps `parley_auth` (users, tokens, signing keys, its rate
// limits, session revocations) and chat `parley_chat` (conversations, messages, read
// markers); websocket has no database. Passwords come from the environment
// (docker-compose.yml requires them); nothing here has a default.
/* global db, print */ // mongosh gives these (and process.env)
function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const admin = db.getSiblingDB('admin');
const services = [
  { user: 'parley-auth', password: required('MONGO_AUTH_PASSWORD'), db: 'parley_auth' },
  { user: 'parley-chat', password: required('MONGO_CHAT_PASSWORD'), db: 'parley_chat' },
];
for (const service of services) {
  admin.createUser({
    user: service.user,
    pwd: service.password,
    roles: [{ role: 'readWrite', db: service.db }],
  });
  print(`created MongoDB user ${service.user} (readWrite on ${service.db})`);
}

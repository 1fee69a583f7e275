// web-push-testing's server, listening on loopback only (its own `start` listens on every
// interface and names "localhost" in endpoints): node serve.js PORT
'use strict';

const http = require('http');
const TestingServer = require('web-push-testing/src/server.js');
const {PushApiModel} = require('web-push-testing/src/PushApiModel.js');

const port = Number(process.argv[2]);
const model = new PushApiModel();
const server = new TestingServer(model, port);
model.notifyUrl = `http://127.0.0.1:${port}/notify/`;
server._app.listen = (listenPort, callback) =>
	http.createServer(server._app).listen(listenPort, '127.0.0.1', callback);
server.startServer();

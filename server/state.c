/* state.c: the global server state and the small operations on it that commands
 * share (kept apart from main.c so the command layer links without the program's
 * entry point, e.g. into fuzzers). */
#include <event2/event.h>

#include "server/server.h"

server_state server;

int client_select_db(client *c, int id) {
    if (id < 0 || id >= server.dbnum) return 0;
    c->db = server.dbs[id];
    return 1;
}

void server_request_shutdown(void) {
    server.shutdown_asap = 1;
    event_base_loopbreak(server.base);
}

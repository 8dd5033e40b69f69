// HTTP routes of the notifications module: GET /notifications (paged, `since` exclusive,
// 404 for an unknown `since` so the client resyncs), /notifications/last and
// /notifications/{id}. All take `client=` to select per-client events.
#pragma once

#include "http/router.h"
#include "notifications/notification_store.h"

namespace wirebox::notifications {

void register_routes(http::Router& router, NotificationStore& store);

}  // namespace wirebox::notifications

// HTTP route of the messages module: POST /conversations/{domain}/{cid}/proteus/messages.
// Decodes the protobuf envelope, checks recipients against the members' clients, and fans the
// opaque ciphertexts out as one conversation.otr-message-add per recipient client — durable
// (unless transient) before the 201.
#pragma once

#include <string>

#include "clients/client_store.h"
#include "conversations/conversation_store.h"
#include "http/router.h"
#include "notifications/event_publisher.h"

namespace wirebox::messages {

void register_routes(http::Router& router, const std::string& domain, conversations::ConversationStore& conversations,
                     clients::ClientStore& clients, notifications::EventPublisher& events);

}  // namespace wirebox::messages

/// Placeholder until the chat page lands.
enum ChatPage { static let html = "<!doctype html><title>Kefu</title>" }

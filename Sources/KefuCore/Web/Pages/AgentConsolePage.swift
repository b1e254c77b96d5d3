/// Placeholder until the agent console lands.
enum AgentConsolePage { static let html = "<!doctype html><title>Kefu agents</title>" }

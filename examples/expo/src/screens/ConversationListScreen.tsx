import { FlatList, Pressable, StyleSheet, Text, View } from "react-native";
import { useConversations } from "../hooks";

/** The conversation list with unread counts and their total. */
export function ConversationListScreen({ onOpen }: { onOpen: (conversationId: string) => void }) {
  const { conversations, totalUnread, error } = useConversations();
  return (
    <View style={styles.screen}>
      <Text style={styles.header} testID="total-unread">
        Conversations{totalUnread > 0 ? ` (${totalUnread} unread)` : ""}
      </Text>
      {error !== undefined && <Text style={styles.error}>{error}</Text>}
      <FlatList
        data={conversations}
        keyExtractor={(c) => c.id}
        renderItem={({ item }) => (
          <Pressable onPress={() => onOpen(item.id)} style={styles.row} accessibilityRole="button" testID={`conversation-${item.id}`}>
            <Text style={styles.title}>{item.title ?? item.id.slice(0, 8)}</Text>
            {item.unreadCount > 0 && <Text style={styles.badge}>{item.unreadCount}</Text>}
          </Pressable>
        )}
        ListEmptyComponent={<Text style={styles.empty}>No conversations yet.</Text>}
      />
    </View>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1 },
  header: { fontSize: 20, fontWeight: "600", padding: 12 },
  error: { color: "#b91c1c", paddingHorizontal: 12 },
  row: { flexDirection: "row", justifyContent: "space-between", padding: 12, borderBottomWidth: StyleSheet.hairlineWidth },
  title: { fontSize: 16 },
  badge: { backgroundColor: "#2563eb", color: "white", borderRadius: 10, paddingHorizontal: 8 },
  empty: { padding: 12, color: "#6b7280" },
});

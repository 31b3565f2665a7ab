//! The 200 tags of the shared workload (`../shared/peers/gen_dataset.py`): names, dimensions,
//! kinds and parameters.
//!
//! The script draws some parameters at random (the log-uniform shares of the long tail, the
//! per-segment affinities of most tags, the wealth slopes); the values below are the ones it
//! draws for its default seed 20240601, rounded to 4 significant digits, so that every tag of
//! the Rust workload has the size of its Python counterpart. Only the per-customer draws
//! depend on the seed given to [`super::Workload::generate`].

/// Hidden customer segments, in the order of the affinity arrays below.
pub const SEGMENTS: [&str; 8] = [
    "beauty",
    "fashion",
    "tech",
    "family",
    "home",
    "active",
    "foodie_travel",
    "dormant",
];
pub const SEG_PRIOR: [f64; 8] = [0.17, 0.13, 0.13, 0.12, 0.10, 0.11, 0.10, 0.14];
pub const SEG_P_PURCHASE: [f64; 8] = [0.56, 0.55, 0.50, 0.60, 0.50, 0.50, 0.52, 0.15];
/// Mean days since the last interaction, per segment (exponential recency).
pub const SEG_INTERACT_TAU: [f64; 8] = [110.0, 110.0, 140.0, 90.0, 170.0, 120.0, 140.0, 700.0];
/// Mean number of orders beyond the first, per segment (negative binomial, r = 0.7).
pub const SEG_EXTRA_ORDERS: [f64; 8] = [2.4, 2.2, 1.6, 2.8, 1.8, 1.8, 2.0, 0.6];

/// Upper bounds of the exclusive wealth tiers on the standard-normal latent wealth:
/// the normal quantiles of the cumulative tier shares 0.30, 0.58, 0.80, 0.94.
pub const TIER_CUTS: [f32; 4] = [-0.524_400_5, 0.201_893_48, 0.841_621_2, 1.554_773_6];

pub const POWER: &str = "purchasing_power";
pub const INTERESTS: &str = "interests";
pub const STAGE: &str = "purchase_stage";
pub const CHANNEL: &str = "source_channel";
pub const ACTIVITY: &str = "interaction_activity";

/// How a tag's members are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Bernoulli with per-customer probability `min(share * m / mean(m), 0.99)`, where
    /// `m = aff[segment] * exp(beta * wealth) * engage^gamma`, `engage = exp(-d / 90)` for
    /// `d` days since the last interaction (the factor capped at 10 when `gamma < 0`).
    Bern {
        share: f64,
        aff: [f32; 8],
        beta: f32,
        gamma: f32,
    },
    /// Bernoulli with probability `c1` inside `parent` and `c0` outside.
    Child {
        parent: &'static str,
        c1: f32,
        c0: f32,
    },
    /// Exclusive wealth tier `0..5` (budget to luxury).
    Tier(u8),
    /// A deterministic function of the attribute columns (see the generator).
    Derived,
    /// Exactly `k` members drawn uniformly, whatever the number of customers.
    Tiny(u32),
}

#[derive(Clone, Copy, Debug)]
pub struct TagSpec {
    pub name: &'static str,
    pub dimension: &'static str,
    pub kind: Kind,
}

const fn bern(
    dimension: &'static str,
    name: &'static str,
    share: f64,
    aff: [f32; 8],
    beta: f32,
    gamma: f32,
) -> TagSpec {
    TagSpec {
        name,
        dimension,
        kind: Kind::Bern {
            share,
            aff,
            beta,
            gamma,
        },
    }
}

const fn child(name: &'static str, parent: &'static str, c1: f32, c0: f32) -> TagSpec {
    TagSpec {
        name,
        dimension: INTERESTS,
        kind: Kind::Child { parent, c1, c0 },
    }
}

const fn tier(name: &'static str, index: u8) -> TagSpec {
    TagSpec {
        name,
        dimension: POWER,
        kind: Kind::Tier(index),
    }
}

const fn derived(dimension: &'static str, name: &'static str) -> TagSpec {
    TagSpec {
        name,
        dimension,
        kind: Kind::Derived,
    }
}

const fn tiny(dimension: &'static str, name: &'static str, k: u32) -> TagSpec {
    TagSpec {
        name,
        dimension,
        kind: Kind::Tiny(k),
    }
}

/// The 200 tags in tag-id order (40 per dimension). Child tags come after their parents.
#[rustfmt::skip]
pub static TAGS: [TagSpec; 200] = [
    // ---- purchasing_power (40) ----
    tier("power/tier_budget", 0),
    tier("power/tier_value", 1),
    tier("power/tier_mid", 2),
    tier("power/tier_premium", 3),
    tier("power/tier_luxury", 4),
    bern(POWER, "power/high_aov", 0.02704, [1.458, 1.188, 1.133, 1.948, 0.9285, 1.429, 1.136, 1.474], 0.744, 0.0),
    bern(POWER, "power/premium_brand_buyer", 0.001101, [1.303, 1.442, 0.9418, 1.104, 1.82, 1.193, 0.7609, 0.5019], 1.06, 0.0),
    bern(POWER, "power/full_price_buyer", 0.004538, [0.9978, 1.213, 1.742, 1.199, 0.7163, 0.8844, 1.123, 1.29], 0.664, 0.0),
    bern(POWER, "power/gift_card_buyer", 0.01927, [1.157, 1.053, 1.043, 0.627, 0.8878, 1.44, 0.8878, 1.223], 0.831, 0.0),
    bern(POWER, "power/credit_card_holder", 0.35, [1.096, 0.7883, 0.942, 0.768, 0.6694, 1.842, 1.841, 0.9436], 0.731, 0.0),
    bern(POWER, "power/bulk_buyer", 0.02594, [1.031, 1.747, 1.055, 0.6326, 0.681, 1.555, 0.7811, 1.682], 0.662, 0.0),
    bern(POWER, "power/luxury_watch_owner", 0.07931, [0.5653, 0.8059, 1.189, 1.445, 1.606, 1.719, 1.337, 0.9195], 0.72, 0.0),
    bern(POWER, "power/designer_bag_buyer", 0.003196, [1.415, 1.499, 0.8858, 0.7832, 0.6457, 0.7442, 0.7923, 1.101], 0.796, 0.0),
    bern(POWER, "power/first_class_traveler", 0.05387, [0.8916, 0.825, 1.153, 1.027, 1.247, 0.8046, 1.484, 0.9831], 0.609, 0.0),
    bern(POWER, "power/private_banking", 0.01796, [1.125, 0.9455, 0.9883, 1.066, 0.6653, 1.236, 0.9697, 1.112], 0.575, 0.0),
    bern(POWER, "power/high_ltv", 0.12, [1.131, 0.8744, 0.7808, 1.731, 0.8402, 1.053, 0.8822, 1.087], 1.14, 0.0),
    bern(POWER, "power/big_ticket_electronics", 0.01458, [0.92, 0.7273, 1.535, 1.411, 0.9566, 1.13, 1.324, 0.4947], 1.01, 0.0),
    bern(POWER, "power/annual_membership", 0.01604, [1.172, 0.9276, 1.08, 1.188, 0.6245, 1.749, 0.9328, 0.8273], 0.748, 0.0),
    bern(POWER, "power/investment_products", 0.00931, [0.7254, 1.728, 0.9464, 0.37, 1.154, 1.043, 0.8476, 0.6231], 0.859, 0.0),
    bern(POWER, "power/premium_delivery", 0.01036, [0.693, 1.841, 1.316, 0.7997, 0.4101, 0.5592, 0.7927, 0.9871], 1.1, 0.0),
    bern(POWER, "power/corporate_account", 0.01347, [1.113, 0.9409, 1.127, 1.945, 0.9182, 1.275, 1.422, 1.054], 0.471, 0.0),
    bern(POWER, "power/price_insensitive", 0.001852, [0.8335, 1.06, 0.4205, 0.974, 0.9991, 0.9275, 0.8455, 0.8682], 0.815, 0.0),
    bern(POWER, "power/multi_currency_payer", 0.02104, [1.514, 1.267, 0.7, 0.9897, 0.768, 1.044, 1.818, 0.9882], 0.537, 0.0),
    bern(POWER, "power/coupon_sensitive", 0.33, [1.114, 1.196, 1.012, 0.9883, 0.6823, 1.504, 1.62, 1.952], -0.787, 0.0),
    bern(POWER, "power/discount_only", 0.001748, [1.158, 0.6974, 1.039, 1.043, 0.7289, 1.468, 1.686, 0.9323], -0.636, 0.0),
    bern(POWER, "power/installment_user", 0.18, [0.9138, 0.8531, 0.7058, 1.054, 1.361, 1.494, 0.7382, 0.9515], -1.15, 0.0),
    bern(POWER, "power/flash_sale_hunter", 0.01039, [1.081, 0.9846, 0.5118, 0.726, 0.7766, 0.9982, 1.077, 0.964], -0.873, 0.0),
    bern(POWER, "power/price_comparer", 0.001436, [0.7814, 1.761, 1.084, 1.333, 1.593, 1.064, 1.047, 0.8027], -0.628, 0.0),
    bern(POWER, "power/clearance_buyer", 0.03885, [0.6999, 1.199, 1.123, 1.072, 0.6597, 0.7561, 0.6381, 1.446], -1.13, 0.0),
    bern(POWER, "power/free_shipping_threshold", 0.004478, [0.6104, 1.055, 1.03, 0.9373, 1.365, 0.8888, 1.1, 0.8161], -1.05, 0.0),
    bern(POWER, "power/cash_on_delivery", 0.06635, [1.325, 0.8362, 0.8026, 1.163, 0.4097, 0.8792, 1.501, 1.391], -0.903, 0.0),
    bern(POWER, "power/low_aov", 0.003477, [0.9009, 1.099, 1.059, 1.726, 0.7902, 0.9638, 1.623, 0.8165], -0.757, 0.0),
    bern(POWER, "power/budget_brand_buyer", 0.04182, [0.8324, 0.7688, 0.8548, 1.33, 0.6371, 1.342, 1.124, 0.6443], -0.93, 0.0),
    bern(POWER, "power/points_redeemer", 0.001886, [1.607, 1.038, 1.111, 0.7875, 0.7786, 0.9246, 1.561, 0.8853], -0.64, 0.0),
    bern(POWER, "power/group_buy_user", 0.003073, [0.7596, 0.9035, 1.082, 1.25, 0.8355, 0.9115, 1.272, 1.305], -1.01, 0.0),
    bern(POWER, "power/second_hand_buyer", 0.002025, [1.25, 0.9335, 1.097, 0.9217, 1.579, 0.7745, 1.4, 1.45], -0.705, 0.0),
    bern(POWER, "power/bnpl_user", 0.002507, [0.8656, 0.6639, 0.6489, 0.6054, 0.9739, 0.9009, 1.058, 0.816], -0.649, 0.0),
    bern(POWER, "power/refund_heavy", 0.09284, [0.7967, 1.4, 0.8315, 0.9074, 1.184, 0.6701, 1.384, 0.8462], -1.07, 0.0),
    tiny(POWER, "power/whale_manual_list", 7),
    tiny(POWER, "power/legacy_vip_import", 0),
    // ---- interests (40) ----
    bern(INTERESTS, "interest/cosmetics", 0.14, [6.0, 2.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/skincare", 0.12, [5.0, 1.5, 0.3, 1.2, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/fragrance", 0.07133, [4.0, 3.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.3, 0.0),
    bern(INTERESTS, "interest/haircare", 0.02572, [4.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/nail_art", 0.01002, [5.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/fashion", 0.15, [2.0, 6.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/luxury_fashion", 0.01564, [0.3, 5.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.8, 0.0),
    bern(INTERESTS, "interest/sneakers", 0.03461, [0.3, 3.0, 0.3, 0.3, 0.3, 3.0, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/jewelry", 0.05806, [1.5, 4.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15], 0.5, 0.0),
    bern(INTERESTS, "interest/electronics", 0.12, [0.3, 0.3, 6.0, 0.3, 0.3, 0.3, 0.3, 0.15], 0.2, 0.0),
    bern(INTERESTS, "interest/gaming", 0.05642, [0.3, 0.3, 5.0, 0.3, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/photography", 0.06511, [0.3, 0.3, 3.0, 0.3, 0.3, 0.3, 2.0, 0.15], 0.3, 0.0),
    bern(INTERESTS, "interest/smart_home", 0.01465, [0.3, 0.3, 4.0, 0.3, 2.0, 0.3, 0.3, 0.15], 0.3, 0.0),
    bern(INTERESTS, "interest/baby_care", 0.09, [0.3, 0.3, 0.3, 8.0, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/toys", 0.04543, [0.3, 0.3, 0.3, 6.0, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/education", 0.01357, [0.3, 0.3, 1.5, 4.0, 0.3, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/home_decor", 0.02661, [0.3, 0.3, 0.3, 0.3, 6.0, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/kitchen", 0.0205, [0.3, 0.3, 0.3, 0.3, 4.0, 0.3, 3.0, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/gardening", 0.07832, [0.3, 0.3, 0.3, 0.3, 5.0, 0.3, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/fitness", 0.1, [0.3, 0.3, 0.3, 0.3, 0.3, 6.0, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/outdoor", 0.01246, [0.3, 0.3, 0.3, 0.3, 0.3, 5.0, 1.5, 0.15], 0.2, 0.0),
    bern(INTERESTS, "interest/running", 0.01087, [0.3, 0.3, 0.3, 0.3, 0.3, 5.0, 0.3, 0.15], 0.0, 0.0),
    bern(INTERESTS, "interest/food_gourmet", 0.03327, [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 6.0, 0.15], 0.2, 0.0),
    bern(INTERESTS, "interest/wine", 0.03922, [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 5.0, 0.15], 0.4, 0.0),
    tiny(INTERESTS, "interest/qa_test_segment", 0),
    child("product/lipstick", "interest/cosmetics", 0.35, 0.005),
    child("product/foundation", "interest/cosmetics", 0.25, 0.003),
    child("product/mascara", "interest/cosmetics", 0.2, 0.002),
    child("product/serum", "interest/skincare", 0.3, 0.004),
    child("product/sunscreen", "interest/skincare", 0.4, 0.02),
    child("product/perfume", "interest/fragrance", 0.45, 0.01),
    child("product/shampoo", "interest/haircare", 0.5, 0.03),
    child("product/handbag", "interest/fashion", 0.2, 0.004),
    child("product/smartphone", "interest/electronics", 0.4, 0.03),
    child("product/headphones", "interest/electronics", 0.3, 0.02),
    child("product/console", "interest/gaming", 0.35, 0.002),
    child("product/diapers", "interest/baby_care", 0.6, 0.001),
    child("product/coffee_machine", "interest/kitchen", 0.15, 0.003),
    child("product/yoga_mat", "interest/fitness", 0.25, 0.002),
    child("product/wine_box", "interest/wine", 0.3, 0.0005),
    // ---- purchase_stage (40) ----
    derived(STAGE, "stage/registered"),
    derived(STAGE, "stage/browsed"),
    derived(STAGE, "stage/purchased"),
    derived(STAGE, "stage/repurchased"),
    derived(STAGE, "stage/loyal_5plus"),
    derived(STAGE, "stage/purchased_30d"),
    derived(STAGE, "stage/purchased_90d"),
    derived(STAGE, "stage/purchased_365d"),
    derived(STAGE, "stage/lapsed_365d"),
    derived(STAGE, "stage/first_purchase_90d"),
    derived(STAGE, "stage/prospect"),
    bern(STAGE, "stage/carted", 0.25, [1.322, 0.4147, 1.2, 0.9996, 1.009, 1.106, 0.6732, 0.1], 0.0, 1.0),
    bern(STAGE, "stage/checkout_abandoned", 0.11, [1.285, 1.366, 1.238, 0.9248, 1.329, 1.226, 1.171, 0.1], 0.0, 1.0),
    bern(STAGE, "stage/wishlist_added", 0.04034, [1.602, 0.9274, 1.23, 1.027, 1.169, 0.707, 0.3193, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/trial_started", 0.01776, [1.135, 1.535, 1.377, 0.9921, 1.221, 0.9062, 2.275, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/subscription_active", 0.009009, [0.6945, 0.5187, 2.0, 0.8571, 0.8619, 0.7612, 2.818, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/subscription_cancelled", 0.00182, [0.8509, 1.077, 1.029, 1.655, 1.071, 1.791, 0.5405, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/refund_requested", 0.05996, [0.5055, 1.496, 0.7606, 0.8856, 1.162, 0.916, 1.096, 0.1], 0.0, 0.2),
    bern(STAGE, "stage/review_written", 0.004122, [1.046, 1.656, 1.714, 0.8234, 1.645, 0.6271, 0.4574, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/referral_sent", 0.07317, [1.784, 1.299, 1.795, 1.149, 0.8979, 4.336, 1.697, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/loyalty_enrolled", 0.21, [1.22, 0.6894, 1.444, 0.7103, 1.847, 1.008, 0.8498, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/loyalty_gold", 0.01231, [1.816, 0.7856, 0.5102, 0.6921, 1.141, 1.493, 3.402, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/loyalty_platinum", 0.01116, [1.464, 1.409, 1.947, 0.6244, 1.039, 1.142, 0.8228, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/win_back_target", 0.03551, [1.271, 1.43, 0.5138, 1.134, 1.212, 1.106, 0.8034, 0.1], 0.0, -0.5),
    bern(STAGE, "stage/price_alert_set", 0.07052, [1.215, 2.688, 1.033, 0.8475, 1.23, 0.6673, 1.288, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/back_in_stock_alert", 0.001958, [0.8097, 0.8536, 0.9718, 0.8903, 1.569, 1.08, 1.188, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/preorder_placed", 0.003665, [0.7106, 0.8058, 0.9717, 0.4402, 0.8903, 0.5935, 0.8181, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/returned_item", 0.002679, [0.631, 1.172, 1.089, 0.6187, 1.327, 1.077, 0.9979, 0.1], 0.0, 0.2),
    bern(STAGE, "stage/exchange_requested", 0.0257, [1.274, 0.9744, 1.11, 2.014, 1.1, 0.9924, 0.7888, 0.1], 0.0, 0.2),
    bern(STAGE, "stage/warranty_registered", 0.005902, [1.083, 1.972, 0.9989, 0.6433, 0.6798, 0.5616, 1.286, 0.1], 0.0, 0.2),
    bern(STAGE, "stage/support_ticket_open", 0.04689, [0.8782, 0.6604, 0.9702, 0.8313, 1.003, 0.4595, 1.078, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/complaint_filed", 0.08117, [1.252, 0.7154, 1.42, 0.8221, 1.211, 0.548, 1.261, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/nps_promoter", 0.00201, [1.092, 0.727, 0.8335, 1.01, 1.673, 1.497, 1.637, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/nps_detractor", 0.02322, [2.16, 1.529, 1.119, 0.6293, 1.159, 1.775, 1.08, 0.1], 0.0, 0.3),
    bern(STAGE, "stage/quote_requested", 0.002099, [0.9911, 1.244, 0.7836, 1.491, 0.7797, 0.3221, 1.626, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/demo_booked", 0.005934, [1.0, 0.3924, 1.566, 0.8006, 0.7493, 0.8639, 0.7816, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/sample_requested", 0.05855, [1.013, 1.207, 0.8683, 0.6789, 0.8695, 0.4996, 0.9919, 0.1], 0.0, 0.5),
    bern(STAGE, "stage/gift_registry", 0.01614, [1.433, 1.513, 1.361, 1.212, 0.6712, 0.9247, 2.112, 0.1], 0.0, 0.3),
    tiny(STAGE, "stage/manual_review", 10),
    tiny(STAGE, "stage/fraud_hold", 2),
    // ---- source_channel (40) ----
    bern(CHANNEL, "channel/web", 0.48, [0.8117, 0.8624, 1.555, 1.633, 1.012, 1.585, 0.5136, 2.168], 0.0, 0.0),
    bern(CHANNEL, "channel/app", 0.3, [0.8664, 1.434, 0.8119, 1.098, 1.186, 2.983, 0.3361, 0.8707], 0.0, 0.0),
    bern(CHANNEL, "channel/wechat", 0.2, [0.6809, 1.409, 2.742, 1.21, 1.926, 2.319, 0.8847, 1.105], 0.0, 0.0),
    bern(CHANNEL, "channel/wechat_mini_program", 0.001168, [0.6491, 1.367, 1.193, 1.216, 0.7213, 0.5134, 0.6152, 1.114], 0.0, 0.0),
    bern(CHANNEL, "channel/line", 0.1, [0.6367, 0.5821, 0.7733, 2.69, 1.589, 0.9042, 0.8907, 1.272], 0.0, 0.0),
    bern(CHANNEL, "channel/whatsapp", 0.09, [0.9533, 1.879, 2.094, 0.7765, 0.9263, 0.6919, 1.118, 0.9602], 0.0, 0.0),
    bern(CHANNEL, "channel/store_pos", 0.15, [0.7509, 0.965, 1.356, 0.8449, 0.8195, 2.18, 1.493, 1.319], 0.0, 0.0),
    bern(CHANNEL, "channel/tmall", 0.07436, [1.802, 1.085, 1.303, 0.7311, 1.039, 1.001, 2.058, 1.325], 0.0, 0.0),
    bern(CHANNEL, "channel/jd", 0.001918, [0.9678, 1.538, 0.7497, 1.489, 1.563, 0.2933, 1.225, 0.5158], 0.0, 0.0),
    bern(CHANNEL, "channel/shopee", 0.04999, [0.3988, 0.7562, 1.102, 0.8171, 1.015, 1.102, 0.5361, 0.9484], 0.0, 0.0),
    bern(CHANNEL, "channel/lazada", 0.001642, [1.097, 1.731, 0.6963, 0.9251, 0.7949, 0.8999, 1.421, 0.6097], 0.0, 0.0),
    bern(CHANNEL, "channel/amazon", 0.02496, [0.9898, 0.4455, 1.096, 0.4303, 0.5729, 0.8112, 0.5068, 1.278], 0.0, 0.0),
    bern(CHANNEL, "channel/facebook_ads", 0.02598, [1.956, 1.621, 0.6134, 1.326, 0.7466, 1.688, 1.188, 1.455], 0.0, 0.0),
    bern(CHANNEL, "channel/google_ads", 0.04404, [1.446, 1.512, 1.417, 0.3273, 1.121, 2.2, 0.8906, 0.2452], 0.0, 0.0),
    bern(CHANNEL, "channel/tiktok", 0.03801, [0.4337, 1.559, 0.442, 0.8357, 0.9322, 0.935, 0.481, 1.107], 0.0, 0.0),
    bern(CHANNEL, "channel/instagram", 0.06224, [0.7421, 1.354, 1.502, 0.4302, 1.221, 0.6554, 0.7982, 1.265], 0.0, 0.0),
    bern(CHANNEL, "channel/youtube", 0.04307, [0.837, 1.044, 1.232, 1.201, 0.8726, 0.9618, 0.5632, 1.063], 0.0, 0.0),
    bern(CHANNEL, "channel/xiaohongshu", 0.001001, [0.6456, 1.312, 0.9315, 1.221, 1.107, 2.333, 0.4565, 1.737], 0.0, 0.0),
    bern(CHANNEL, "channel/weibo", 0.042, [0.7474, 0.6648, 1.746, 1.398, 0.5238, 0.4307, 0.8924, 1.051], 0.0, 0.0),
    bern(CHANNEL, "channel/douyin", 0.001358, [2.756, 1.21, 0.6629, 2.354, 0.6231, 1.009, 0.7156, 1.007], 0.0, 0.0),
    bern(CHANNEL, "channel/kakao", 0.02145, [0.8312, 0.986, 0.629, 1.078, 0.7865, 1.448, 0.9345, 0.9946], 0.0, 0.0),
    bern(CHANNEL, "channel/telegram", 0.002414, [0.3384, 0.4374, 1.426, 0.4839, 0.8432, 0.5897, 1.264, 1.51], 0.0, 0.0),
    bern(CHANNEL, "channel/email_signup", 0.008721, [1.686, 0.4808, 1.22, 0.617, 2.036, 1.173, 1.177, 0.4986], 0.0, 0.0),
    bern(CHANNEL, "channel/sms_signup", 0.02896, [0.8698, 1.479, 1.471, 1.119, 0.8737, 0.5405, 0.9485, 0.9416], 0.0, 0.0),
    bern(CHANNEL, "channel/referral", 0.001098, [0.562, 0.7104, 0.5715, 1.318, 1.837, 1.149, 1.322, 1.494], 0.0, 0.0),
    bern(CHANNEL, "channel/affiliate", 0.07707, [0.4023, 0.8573, 1.835, 2.388, 1.326, 1.036, 2.546, 1.152], 0.0, 0.0),
    bern(CHANNEL, "channel/influencer", 0.01374, [0.89, 0.9362, 1.464, 0.4018, 1.028, 1.071, 1.523, 0.4941], 0.0, 0.0),
    bern(CHANNEL, "channel/trade_show", 0.01451, [1.324, 0.9402, 0.5598, 1.36, 1.886, 0.9165, 2.869, 1.606], 0.0, 0.0),
    bern(CHANNEL, "channel/call_center", 0.003847, [0.8859, 0.6127, 0.388, 0.3472, 0.729, 1.14, 0.3705, 0.7634], 0.0, 0.0),
    bern(CHANNEL, "channel/popup_store", 0.0515, [2.048, 2.366, 1.894, 0.5862, 2.161, 1.122, 0.557, 2.073], 0.0, 0.0),
    bern(CHANNEL, "channel/partner_bank", 0.04301, [0.8184, 0.3687, 1.25, 0.6462, 0.8614, 1.403, 0.6927, 2.468], 0.0, 0.0),
    bern(CHANNEL, "channel/airline_partner", 0.07335, [0.9225, 1.746, 2.02, 0.7878, 0.74, 1.511, 1.27, 2.037], 0.0, 0.0),
    bern(CHANNEL, "channel/qr_code_poster", 0.02586, [1.208, 0.9357, 1.084, 2.741, 1.414, 1.308, 1.485, 0.8463], 0.0, 0.0),
    bern(CHANNEL, "channel/wifi_portal", 0.005553, [1.026, 0.8953, 1.913, 0.3351, 1.688, 2.263, 0.8044, 0.4623], 0.0, 0.0),
    bern(CHANNEL, "channel/csv_import", 0.01178, [0.9544, 0.6065, 1.467, 0.7111, 0.6577, 1.77, 2.922, 1.045], 0.0, 0.0),
    bern(CHANNEL, "channel/api_partner", 0.003277, [0.3083, 0.7348, 0.7279, 0.9325, 1.759, 1.654, 0.8072, 0.8401], 0.0, 0.0),
    bern(CHANNEL, "channel/offline_event", 0.01061, [1.404, 0.6258, 1.441, 1.095, 0.9002, 0.3991, 1.488, 0.4857], 0.0, 0.0),
    bern(CHANNEL, "channel/lucky_draw", 0.01789, [0.8287, 1.091, 0.3543, 0.5635, 1.246, 0.6735, 0.6828, 0.8229], 0.0, 0.0),
    tiny(CHANNEL, "channel/kiosk_pilot", 3),
    tiny(CHANNEL, "channel/smart_mirror_beta", 0),
    // ---- interaction_activity (40) ----
    derived(ACTIVITY, "activity/active_7d"),
    derived(ACTIVITY, "activity/active_30d"),
    derived(ACTIVITY, "activity/active_90d"),
    derived(ACTIVITY, "activity/dormant_180d"),
    derived(ACTIVITY, "activity/dormant_365d"),
    bern(ACTIVITY, "activity/email_subscribed", 0.62, [0.5397, 1.445, 1.158, 1.635, 0.628, 0.8936, 1.031, 0.3], 0.0, 0.1),
    bern(ACTIVITY, "activity/opened_email_30d", 0.16, [0.8945, 1.083, 0.9014, 0.8689, 0.8993, 0.8736, 0.7949, 0.3], 0.0, 1.5),
    bern(ACTIVITY, "activity/clicked_email_30d", 0.02771, [0.9847, 0.8205, 0.9169, 0.7203, 0.7646, 0.8798, 1.057, 0.3], 0.0, 1.5),
    bern(ACTIVITY, "activity/sms_opt_in", 0.24, [0.9992, 0.8709, 1.291, 1.123, 1.36, 0.7614, 0.8162, 0.3], 0.0, 0.2),
    bern(ACTIVITY, "activity/push_enabled", 0.19, [0.9123, 0.552, 0.8511, 1.9, 2.137, 1.212, 0.5527, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/push_clicked_30d", 0.002352, [1.014, 0.61, 0.7583, 0.9806, 1.06, 0.8759, 0.7439, 0.3], 0.0, 1.5),
    bern(ACTIVITY, "activity/wechat_follower", 0.01991, [0.9899, 1.221, 0.8244, 1.297, 0.8311, 0.9936, 1.186, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/line_friend", 0.04711, [2.455, 1.204, 0.9843, 0.7919, 1.206, 0.4997, 0.7517, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/whatsapp_opt_in", 0.007669, [0.9532, 1.017, 0.921, 1.1, 0.8938, 1.417, 0.6045, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/coupon_claimed", 0.002105, [0.8971, 0.9982, 0.6351, 0.6586, 1.009, 1.36, 0.8179, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/coupon_redeemed", 0.01159, [1.185, 0.9613, 1.266, 0.8334, 1.134, 0.7543, 1.374, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/survey_responded", 0.001406, [1.014, 1.105, 0.6813, 0.8058, 0.8989, 0.8737, 1.321, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/live_stream_viewer", 0.0312, [1.222, 0.9007, 1.383, 0.7651, 0.6447, 0.8717, 0.6828, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/game_participant", 0.08178, [0.936, 0.9252, 1.24, 1.179, 1.564, 1.663, 0.8946, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/check_in_streak", 0.003108, [0.7873, 1.488, 0.8964, 0.6067, 0.9308, 0.757, 0.7979, 0.3], 0.0, 2.0),
    bern(ACTIVITY, "activity/review_liker", 0.001983, [0.7188, 1.418, 0.8714, 1.497, 0.86, 0.9049, 0.9655, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/community_member", 0.004629, [1.081, 0.6268, 1.078, 1.113, 0.701, 1.131, 1.699, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/event_attendee", 0.02755, [0.9594, 0.8912, 0.8626, 0.8525, 1.429, 0.8885, 1.185, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/webinar_attendee", 0.001683, [1.486, 1.378, 0.6248, 1.017, 0.7196, 1.322, 0.529, 0.3], 0.0, 0.5),
    bern(ACTIVITY, "activity/chatbot_user", 0.04314, [0.8728, 1.163, 1.492, 1.585, 1.306, 0.8175, 1.458, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/customer_service_chat", 0.00747, [0.5773, 1.071, 0.8307, 1.096, 1.293, 0.8594, 1.013, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/store_visit_30d", 0.008976, [1.031, 1.07, 0.875, 0.8441, 1.537, 0.9136, 0.8092, 0.3], 0.0, 1.5),
    bern(ACTIVITY, "activity/app_open_7d", 0.00109, [0.8278, 1.359, 1.021, 0.8115, 1.149, 0.7402, 0.8133, 0.3], 0.0, 2.0),
    bern(ACTIVITY, "activity/web_session_30d", 0.008707, [0.7981, 1.426, 0.6968, 1.272, 0.6946, 0.9163, 0.8517, 0.3], 0.0, 1.5),
    bern(ACTIVITY, "activity/search_user", 0.05355, [0.8972, 1.511, 0.9256, 1.01, 1.709, 1.5, 0.6758, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/video_watcher", 0.01431, [1.089, 1.07, 0.7552, 1.166, 1.321, 0.9641, 0.9274, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/social_share", 0.09001, [1.449, 0.9544, 0.9831, 1.72, 0.5668, 1.052, 1.074, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/ugc_creator", 0.001597, [0.9408, 0.9695, 0.6812, 0.8598, 0.9488, 0.985, 1.098, 0.3], 0.0, 1.0),
    bern(ACTIVITY, "activity/unsubscribed_email", 0.006576, [0.9759, 1.078, 0.9203, 1.414, 1.277, 0.5281, 0.8325, 0.3], 0.0, -0.5),
    bern(ACTIVITY, "activity/bounced_email", 0.01503, [1.213, 0.6187, 1.094, 0.6691, 1.116, 1.116, 0.7624, 0.3], 0.0, -0.5),
    bern(ACTIVITY, "activity/spam_complaint", 0.009945, [0.8244, 1.49, 1.086, 0.9117, 1.304, 0.87, 1.827, 0.3], 0.0, -0.5),
    bern(ACTIVITY, "activity/birthday_month", 0.083, [0.9147, 1.232, 1.425, 0.8587, 0.9672, 0.7763, 0.8501, 0.3], 0.0, 0.0),
    bern(ACTIVITY, "activity/anniversary_month", 0.083, [1.305, 0.9546, 1.122, 0.9076, 1.19, 0.8806, 1.175, 0.3], 0.0, 0.0),
    tiny(ACTIVITY, "activity/beta_tester_invite", 1),
    tiny(ACTIVITY, "activity/sandbox_test", 5),
];
